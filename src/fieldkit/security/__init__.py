"""fieldkit.security"""
