"""Console page: your own account, and (for administrators) the console users."""

import streamlit as st

from admin_app.auth import keep_session, require_login
from admin_app.resources import get_database
from core.clock import utcnow
from core.db.users import ROLES, UserRepository
from core.errors import UserError
from core.services.auth import add_user, change_own_password, remove_user
from core.text import escape_markdown

user = require_login(__file__)
users = UserRepository(get_database())

st.title("Users")
if outcome := st.session_state.pop("users_outcome", None):
    st.success(escape_markdown(outcome), icon=":material/check_circle:")


def done(message: str) -> None:
    st.session_state["users_outcome"] = message
    st.rerun()


st.subheader("Your account")
st.markdown(f"**{escape_markdown(user.display_name)}** · `{user.username}` · {user.role}")
with st.form("change_password", clear_on_submit=True, width=480):
    current = st.text_input("Current password", type="password", autocomplete="current-password")
    new = st.text_input("New password", type="password", autocomplete="new-password")
    repeat = st.text_input("New password again", type="password", autocomplete="new-password")
    if st.form_submit_button("Change password"):
        try:
            changed = change_own_password(users, user, current=current, new=new, repeat=repeat)
        except UserError as err:
            st.error(escape_markdown(err))
        else:
            keep_session(changed)
            done("Your password is changed; use it next time you sign in.")

if not user.is_admin:
    st.info("Only administrators can see and manage the other console users.")
    st.stop()

st.subheader("Console users")
now = utcnow()
everyone = users.list()
st.dataframe(
    [
        {
            "Username": u.username,
            "Name": u.display_name,
            "E-mail": u.email,
            "Role": u.role,
            "Added": u.created_at.strftime("%Y-%m-%d"),
            "Added by": u.created_by or "",
            "Status": f"locked until {u.locked_until:%H:%M} UTC" if u.is_locked(now) else "active",
        }
        for u in everyone
    ],
    hide_index=True,
    width="stretch",
)

left, right = st.columns(2, gap="large")
with left, st.form("add_user", clear_on_submit=True):
    st.markdown("**Add a user**")
    username = st.text_input("Username", help="2 to 32 lowercase letters, digits, . _ or -")
    display_name = st.text_input("Display name")
    email = st.text_input("E-mail (optional)")
    role = st.selectbox(
        "Role",
        ROLES,
        format_func=lambda r: {"admin": "administrator", "labeller": "labeller"}.get(r, r),
        help="Labellers can import and label images but not manage users, training or models.",
    )
    password = st.text_input("Password", type="password", autocomplete="new-password")
    password_again = st.text_input("Password again", type="password", autocomplete="new-password")
    if st.form_submit_button("Add user", type="primary"):
        try:
            added = add_user(
                users,
                by=user,
                username=username,
                password=password,
                repeat=password_again,
                role=role,
                display_name=display_name,
                email=email,
            )
        except UserError as err:
            st.error(escape_markdown(err))
        else:
            done(f"Added {added.role} {added.username!r}; they can sign in now.")

with right, st.container(border=True):
    st.markdown("**Remove a user**")
    others = [u.username for u in everyone if u.username != user.username]
    if not others:
        st.caption("You are the only user; add another one first.")
    else:
        gone = st.selectbox("User to remove", others, index=None, placeholder="Pick a user")
        sure = st.checkbox("Yes, remove this user for good")
        if st.button("Remove user", disabled=gone is None or not sure):
            try:
                remove_user(users, gone, by=user)
            except UserError as err:
                st.error(escape_markdown(err))
            else:
                done(f"Removed {gone!r}.")
