"""HTTP surfaces: the WeChat webhook, public pages, /healthz."""
