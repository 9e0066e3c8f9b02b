"""Every mitmproxy addon and its plumbing (the proxy layer)."""
