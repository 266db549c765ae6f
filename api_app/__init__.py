"""The identify HTTP API: a FastAPI front door over core.services.identify_api."""
