"""pydantic models at the edges: request bodies, query strings, and response shapes."""
