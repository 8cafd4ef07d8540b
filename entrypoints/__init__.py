"""The edges: the dependency-injection container and the command-line interface."""
