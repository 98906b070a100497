"""Weibo microblog channel."""
