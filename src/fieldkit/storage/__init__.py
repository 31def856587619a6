"""fieldkit.storage"""
