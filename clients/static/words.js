// The dashboard's plain words: risk factors, severity bands, alert codes.

export const PHQ9_BANDS = [
  { name: "minimal", level: 0, from: 0, to: 4 }, { name: "mild", level: 1, from: 5, to: 9 },
  { name: "moderate", level: 2, from: 10, to: 14 },
  { name: "moderately severe", level: 3, from: 15, to: 19 }, { name: "severe", level: 4, from: 20, to: 27 },
];
export const GAD7_BANDS = [
  { name: "minimal", level: 0, from: 0, to: 4 }, { name: "mild", level: 1, from: 5, to: 9 },
  { name: "moderate", level: 2, from: 10, to: 14 }, { name: "severe", level: 4, from: 15, to: 21 },
];

const ALERT_TITLES = {
  mood_crisis: "Mood crisis",
  suicide_risk_screen: "Self-harm thoughts on PHQ-9",
  dropout_risk_high: "High dropout risk",
  reliable_deterioration: "Reliable deterioration",
};

export function alertTitle(code) {
  return ALERT_TITLES[code] || code.replaceAll("_", " ");
}

function days(n) {
  return n === 1 ? "1 day" : `${n} days`;
}

function round(value, digits = 0) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** One dropout-risk factor as a sentence a therapist reads at a glance. */
export function factorInWords(factor) {
  switch (factor.name) {
    case "silence":
      return factor.days_since_last_activity === null
        ? "No activity yet"
        : `No activity for ${days(factor.days_since_last_activity)} (usually every ${
          factor.usual_gap_days === 1 ? "day" : days(round(factor.usual_gap_days, 1))})`;
    case "frequency_decline":
      return `${factor.sessions_last_4_weeks} sessions in the last 4 weeks (usually ${round(factor.usual_per_4_weeks)})`;
    case "missed_sessions":
      return `${factor.missed} of the last ${factor.of_last} sessions cancelled or missed`;
    case "falling_mood":
      return `Mood falling (${round(factor.recent_change, 1)} points lately)`;
    case "shorter_sessions":
      return `Sessions shorter: ${round(factor.recent_minutes)} min lately, ${round(factor.earlier_minutes)} min before`;
    default:
      return factor.name.replaceAll("_", " ");
  }
}

export function topFactors(risk, count = 2) {
  return (risk?.factors || [])
    .filter((factor) => factor.contribution > 0)
    .sort((a, b) => b.contribution - a.contribution)
    .slice(0, count);
}

/** The latest score of an instrument from a progress document's `measures` (hub v1.1). */
export function latestMeasure(progress, instrument) {
  const measure = progress?.measures?.[instrument];
  return measure?.latest ? { total: measure.latest.total, severity: measure.latest.severity } : null;
}

export function severityWords(severity) {
  return (severity || "").replaceAll("_", " ");
}

export function relativeDay(day) {
  if (!day) return "never";
  const then = new Date(`${day}T12:00:00`);
  const days = Math.round((Date.now() - then.getTime()) / 86400000);
  if (days <= 0) return "today";
  if (days === 1) return "yesterday";
  return `${days} days ago`;
}
