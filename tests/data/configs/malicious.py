import os
os.system('touch MARKER_PATH')
param_scheduler = [dict(type='LinearLR', start_factor=float(os.environ.get('WARMUP_FACTOR', '0.1')),
                        by_epoch=False, end=5)]
