"""fieldkit.services"""
