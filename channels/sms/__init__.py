"""SMS pushes to subscribers (Aliyun, Tencent Cloud)."""
