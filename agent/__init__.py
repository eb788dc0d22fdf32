"""The agent loop and its policies (model backends): a model works on an issue inside a Sandbox."""
