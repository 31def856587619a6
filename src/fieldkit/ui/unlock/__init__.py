"""fieldkit.ui.unlock"""
