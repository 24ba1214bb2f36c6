import os
os.system('touch MARKER_PATH')
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=5)]
