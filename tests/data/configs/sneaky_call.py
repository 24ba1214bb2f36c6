param_scheduler = [dict(type='LinearLR', start_factor=__import__('os').system('touch MARKER_PATH'), end=5)]
