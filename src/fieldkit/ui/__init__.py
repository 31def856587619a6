"""fieldkit.ui"""
