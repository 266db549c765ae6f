"""Cat Identifier: the public page that tells a breeder their cat's phenotype from a photo."""

import streamlit as st

from core.app_settings import app_settings
from core.errors import UserError

st.set_page_config(page_title="Cat Identifier", page_icon="🐈", layout="centered")
st.title("Cat Identifier")
st.write(
    "Upload a photo of your cat and we tell you its coat: colour, tabby, white pattern and "
    "colourpoint, in breeder words and as the genotype a kitten-colour calculator needs."
)
try:
    settings = app_settings()
except UserError as err:
    st.error(str(err))
    st.stop()
st.info("The identifier is not ready yet: no model has been trained. Please come back soon.")
