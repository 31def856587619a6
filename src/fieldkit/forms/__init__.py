"""fieldkit.forms"""
