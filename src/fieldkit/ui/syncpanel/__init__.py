"""fieldkit.ui.syncpanel"""
