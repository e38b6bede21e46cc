def distillation_loss(student_logits, teacher_logits, T=4.0):
    # Both distributions softened by the temperature T
    soft_student = F.log_softmax(student_logits / T, dim=1)
    soft_teacher = F.softmax(teacher_logits / T, dim=1)
    # T * T keeps the gradients the size of the hard loss
    return F.kl_div(soft_student, soft_teacher, reduction="batchmean") * T * T
optimizer = torch.optim.Adam(student.parameters(), lr=2e-3)
for x, y in batches:
    with torch.no_grad():
        teacher_logits = teacher(x)
    logits = student(x)
    loss = 0.5 * F.cross_entropy(logits, y) + 0.5 * distillation_loss(logits, teacher_logits)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
