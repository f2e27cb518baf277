"""cbec — cross-border e-commerce comprehensive service platform (跨境电商线上综合服务平台)."""

__version__ = "0.1.0"
