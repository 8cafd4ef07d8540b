"""`unet serve`: the Open Inference Protocol v2 over HTTP, an upload endpoint and a page, as a
thin door onto the Inspector's session (README: Serve; docs/serve.md)."""
