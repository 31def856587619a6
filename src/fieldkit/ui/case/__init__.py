"""fieldkit.ui.case"""
