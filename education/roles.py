"""What each staff role may do with education (see accounts.roles)."""

ROLE_PERMISSIONS = {
    # 客服 helps clients through the gate: reads the course, changes nothing. The evidence of each
    # client's gate (confirmations, quiz attempts) is compliance's to read.
    "agent": [
        "education.view_course",
        "education.view_courseversion",
    ],
    # 合规 writes and publishes course versions, sets reading times, reads the evidence.
    "compliance": [
        "education.view_course",
        "education.add_course",
        "education.change_course",
        "education.view_courseversion",
        "education.add_courseversion",
        "education.change_courseversion",
        "education.publish_courseversion",
        "education.view_lesson",
        "education.add_lesson",
        "education.change_lesson",
        "education.delete_lesson",
        "education.view_question",
        "education.add_question",
        "education.change_question",
        "education.delete_question",
        "education.view_quizattempt",
        "education.view_gateconfirmation",
        "education.view_warningsetting",
        "education.add_warningsetting",
        "education.change_warningsetting",
    ],
}
