"""fieldkit.ui.firstrun"""
