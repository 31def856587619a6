"""fieldkit.server"""
