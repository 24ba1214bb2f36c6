# mmdet 3.3.0 configs/retinanet/retinanet_r50_fpn_1x_coco.py (schedule part, verbatim) on
# configs/_base_/schedules/schedule_1x.py; the model, dataset, runtime and TTA bases are left out.
_base_ = ['./_base_/schedules/schedule_1x.py']

# optimizer
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
