// Plain-language wording of model factors, rules and events, for learners and for educators.
import { isNum } from "./util.js";

const round = (v, d = 0) => (isNum(v) ? Number(v).toFixed(d) : "?");

// feature -> (value, you) => sentence; `you` is true when the learner reads about themself.
const FACTORS = {
  average_score: (v, you) => `${you ? "Your" : "Their"} average score is ${round(v)}%`,
  recent_average: (v, you) => `${you ? "Your" : "Their"} recent scores average ${round(v)}%`,
  score_slope: (v) => (v < 0 ? `Scores are falling (${round(v, 1)} points per assessment)` : `Scores are rising (+${round(v, 1)} per assessment)`),
  baseline_z: (v, you) => (v < 0 ? `Recent scores are below ${you ? "your" : "their"} usual level` : `Recent scores are above ${you ? "your" : "their"} usual level`),
  activities_per_day: (v) => `${round(v, 1)} learning activities a day`,
  active_day_share: (v) => `Active on ${Math.round((v || 0) * 100)}% of days`,
  days_since_activity: (v) => `${round(v)} day${Math.round(v) === 1 ? "" : "s"} since the last activity`,
  days_since_progress: (v) => `${round(v)} day${Math.round(v) === 1 ? "" : "s"} since a module was last finished`,
  modules_per_week: (v) => `${round(v, 1)} modules finished a week`,
  attendance_percent: (v) => `Attendance is ${round(v)}%`,
  engagement: (v) => `Engagement is ${round(v)} out of 100`,
};

export function factorText(factor, you) {
  const say = FACTORS[factor.feature];
  const text = say && isNum(factor.value) ? say(factor.value, you) : factor.feature.replace(/_/g, " ");
  return { text, raises: factor.contribution > 0 };
}

export const RISK_SENTENCE = {
  learner: {
    green: "You are on track. Keep going!",
    amber: "A few things could use some attention.",
    red: "You may be falling behind. Your teacher can help.",
    grey: "Not enough activity yet to tell.",
  },
  educator: {
    green: "On track.",
    amber: "Worth watching.",
    red: "At risk of falling behind: check in soon.",
    grey: "Not enough data yet.",
  },
};

// Rule text from the server uses `parameter` markers; show them as plain words.
export function plain(text) {
  return (text || "").replace(/`/g, "");
}

// What a learner reads about their own alert or achievement.
export function learnerWording(alert, kind) {
  if (kind === "achievement") return { title: `Well done: ${alert.title}`, text: achievementText(alert) };
  return { title: alert.title, text: learnerTip(alert) };
}

function achievementText(alert) {
  const f = alert.factors || {};
  if (isNum(f.current_streak)) return `You have been learning ${f.current_streak} days in a row. Keep the streak going!`;
  if (alert.rule === "high_performance") return "Your recent scores are excellent. Ask your teacher for stretch material.";
  return plain(alert.message);
}

function learnerTip(alert) {
  const tips = {
    performance_decline: "Go back over your last assessments, and ask your teacher for a revision session.",
    declining_trend: "Your last scores went down; revisit the basics of the current module.",
    baseline_decline: "Your scores are lower than usual for you. Is something getting in the way?",
    engagement_drop: "A little every day helps: try a short session today.",
    completion_stagnation: "Pick up where you left off and finish the next module.",
    low_consistency: "Regular short sessions beat long irregular ones.",
    at_risk: "Talk to your teacher about a plan for the next weeks.",
    account_inactive: "Welcome back soon: pick up where you left off, even for ten minutes.",
  };
  return tips[alert.rule] || plain(alert.message);
}

export function eventText(event) {
  const where = event.module || event.course || event.section || "";
  switch (event.kind) {
    case "assessment":
      return `Assessment${event.skill ? ` in ${event.skill}` : ""}: ${round((100 * event.score) / (event.max_score || 100))}%`;
    case "module_completed":
      return `Finished module ${where}`;
    case "grade":
      return `Grade${event.exam ? ` for ${event.exam}` : ""}: ${round(event.marks, 1)} marks`;
    case "attendance":
      return `Attendance ${event.date || ""}: ${event.status}`;
    default:
      return `Studied ${where}${isNum(event.duration_seconds) ? ` for ${Math.max(1, Math.round(event.duration_seconds / 60))} min` : ""}`;
  }
}
