"""Where actions and tests run: the Sandbox protocol, Docker containers with limits, layered images."""
