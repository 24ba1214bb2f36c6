# An MMDetection-style schedule (Faster R-CNN, "20e"): SGD lr 0.02, 500-iteration linear
# warm-up, then x0.1 at epochs 16 and 19. Read by bridge.load_config without executing it.
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=0.0001),
)

param_scheduler = [
    dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type="MultiStepLR", begin=0, end=20, by_epoch=True, milestones=[16, 19], gamma=0.1),
]

train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=20, val_interval=1)
