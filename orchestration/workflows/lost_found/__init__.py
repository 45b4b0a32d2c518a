"""Lost and found: a found item indexed by the vision API that matches a guest's reported
loss -> a return notice for staff to confirm, never a message to the guest."""
