"""Replace the SGD optimizer wholesale with _delete_."""
_base_ = './_base_/schedules/schedule_1x.py'
base_lr = 0.0001 * 4
num_last_epochs = 2
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0))
max_epochs = 12 * 3 + 0
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-5, by_epoch=False, begin=0, end=1000),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs - num_last_epochs,
        T_max=max_epochs // 2 - num_last_epochs,
        by_epoch=True,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=-1)
warmup = _base_.param_scheduler[0]
loop_cfg = {{_base_.train_cfg}}
