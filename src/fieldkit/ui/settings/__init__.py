"""fieldkit.ui.settings"""
