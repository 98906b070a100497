"""WeChat official account channel."""
