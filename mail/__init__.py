"""Correspondence: messages, assignments, orders, notifications and the mailbox view.

Each procedure is a BPMN diagram (bpmn/assignment.bpmn, bpmn/order.bpmn); this package
keeps the records people see in their mailbox and the operators the diagrams call.
"""
