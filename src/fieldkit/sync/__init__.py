"""fieldkit.sync"""
