"""PDF reports for meetings: one learner (parents), one section (staff)."""
