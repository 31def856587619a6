"""fieldkit.ui.review"""
