"""Helpers for the end-to-end tests: real uvicorn servers and bounded WebSocket clients."""
