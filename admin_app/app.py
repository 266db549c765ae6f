"""Cat Identifier console: sign-in gate and page router."""

import streamlit as st

st.set_page_config(page_title="Cat Identifier console", page_icon="🛠️", layout="wide")
st.title("Cat Identifier console")
st.info("Sign-in comes with the console issue.")
