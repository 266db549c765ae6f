"""What both Streamlit apps share: settings, the cached database and active model, the launcher."""
