"""Cat Identifier console: the sign-in gate and the page router (only the pages a role may open)."""

import streamlit as st

from admin_app.auth import (
    UNEXPECTED_ERROR,
    request_sign_out,
    session_user,
    sign_in_page,
)
from admin_app.console_pages import PAGES
from admin_app.resources import get_database
from core.db.users import UserRepository
from core.errors import UserError
from core.text import escape_markdown

st.set_page_config(page_title="Cat Identifier console", page_icon="🐈", layout="wide")

try:
    users = UserRepository(get_database())
except UserError as err:
    st.error(escape_markdown(err))
    st.stop()

user = session_user(users)

if user is None:

    def sign_in() -> None:
        sign_in_page(users)

    st.navigation(
        [st.Page(sign_in, title="Sign in", icon=":material/login:")], position="hidden"
    ).run()
else:
    pages = [
        st.Page(page.path, title=page.title, icon=page.icon)
        for page in PAGES
        if page.may_open(user.role)
    ]
    current = st.navigation(pages)
    with st.sidebar:
        st.caption(f"Signed in as **{user.display_name}** ({user.role})")
        st.button("Sign out", icon=":material/logout:", on_click=request_sign_out)
    try:
        current.run()
    except Exception:
        st.error(UNEXPECTED_ERROR)
        raise  # Streamlit logs it; client.showErrorDetails = false keeps the traceback off the page
