"""fieldkit.config"""
