"""Writes of the controls app, one module per concern."""
