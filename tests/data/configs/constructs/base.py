# what MMEngine does to a base's data: ConfigDict copies on assignment, merges on update
model = dict(type='Net', backbone=dict(depth=50, frozen=1), head=dict(num_classes=80))
pipeline = [dict(type='Load'), dict(type='Resize', scale=(1333, 800)), dict(type='Pack')]
train_dataloader = dict(batch_size=2, dataset=dict(type='Coco', pipeline=pipeline))
tta_model = dict(type='TTA')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
