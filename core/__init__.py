"""Cat Identifier core: everything the apps and jobs share. Never imports streamlit."""
