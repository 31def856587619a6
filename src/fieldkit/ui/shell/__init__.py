"""fieldkit.ui.shell"""
