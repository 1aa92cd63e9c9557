"""The ops centre's web pages (server-rendered, Simplified Chinese, no CDN)."""
