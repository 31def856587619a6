"""fieldkit.ui.knowledge"""
