//! The valence–activation plane: a circumplex with labelled quadrants, a fading trail of
//! recent estimates and the current one.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

/// A point on the plane from calibrated scores: x = valence, y = activation, both in [−1, 1].
pub fn to_plane(valence_score: f64, activation_score: f64) -> Vec2 {
    Vec2::new((2.0 * valence_score - 1.0) as f32, (2.0 * activation_score - 1.0) as f32)
}

/// Draws the plane into a square of side `size`; `trail` is oldest-first, the last point is
/// the current estimate. Returns the response of the area.
pub fn plane(ui: &mut egui::Ui, size: f32, trail: &[Vec2], active: bool) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(size), Sense::hover());
    let p = ui.painter_at(rect);
    let v = ui.visuals();
    let c = rect.center();
    let r = rect.width() * 0.45;
    let to_screen = |q: Vec2| Pos2::new(c.x + q.x.clamp(-1.0, 1.0) * r, c.y - q.y.clamp(-1.0, 1.0) * r);
    p.rect_filled(rect, 6.0, v.extreme_bg_color);
    let quad = |dx: f32, dy: f32, col: Color32| {
        let q = Rect::from_two_pos(c, Pos2::new(c.x + dx * r, c.y - dy * r));
        p.rect_filled(q, 0.0, col);
    };
    let a = if v.dark_mode { 22 } else { 30 };
    quad(1.0, 1.0, Color32::from_rgba_unmultiplied(250, 190, 40, a));
    quad(-1.0, 1.0, Color32::from_rgba_unmultiplied(230, 60, 60, a));
    quad(-1.0, -1.0, Color32::from_rgba_unmultiplied(80, 110, 230, a));
    quad(1.0, -1.0, Color32::from_rgba_unmultiplied(70, 190, 120, a));
    p.circle_stroke(c, r, Stroke::new(1.0, v.weak_text_color()));
    p.line_segment([Pos2::new(c.x - r, c.y), Pos2::new(c.x + r, c.y)], Stroke::new(1.0, v.weak_text_color()));
    p.line_segment([Pos2::new(c.x, c.y - r), Pos2::new(c.x, c.y + r)], Stroke::new(1.0, v.weak_text_color()));
    let small = FontId::proportional(11.0);
    let txt = v.text_color();
    let weak = v.weak_text_color();
    p.text(Pos2::new(c.x, rect.top() + 2.0), Align2::CENTER_TOP, "high activation", small.clone(), weak);
    p.text(Pos2::new(c.x, rect.bottom() - 2.0), Align2::CENTER_BOTTOM, "low activation", small.clone(), weak);
    p.text(Pos2::new(rect.left() + 4.0, c.y - 2.0), Align2::LEFT_BOTTOM, "negative", small.clone(), weak);
    p.text(Pos2::new(rect.right() - 4.0, c.y - 2.0), Align2::RIGHT_BOTTOM, "positive", small.clone(), weak);
    let corner = FontId::proportional(13.0);
    let o = r * 0.62;
    p.text(Pos2::new(c.x + o, c.y - o), Align2::CENTER_CENTER, "excited · happy", corner.clone(), txt);
    p.text(Pos2::new(c.x - o, c.y - o), Align2::CENTER_CENTER, "tense · angry", corner.clone(), txt);
    p.text(Pos2::new(c.x - o, c.y + o), Align2::CENTER_CENTER, "sad · bored", corner.clone(), txt);
    p.text(Pos2::new(c.x + o, c.y + o), Align2::CENTER_CENTER, "calm · content", corner, txt);
    let n = trail.len();
    for (i, w) in trail.windows(2).enumerate() {
        let alpha = ((i + 1) as f32 / n as f32 * 200.0) as u8;
        p.line_segment([to_screen(w[0]), to_screen(w[1])], Stroke::new(2.0, Color32::from_rgba_unmultiplied(120, 160, 255, alpha)));
    }
    for (i, q) in trail.iter().enumerate() {
        let alpha = ((i + 1) as f32 / n as f32 * 180.0) as u8;
        p.circle_filled(to_screen(*q), 3.0, Color32::from_rgba_unmultiplied(120, 160, 255, alpha));
    }
    if let Some(last) = trail.last() {
        let col = if active { Color32::from_rgb(255, 120, 60) } else { Color32::GRAY };
        p.circle_filled(to_screen(*last), 9.0, col);
        p.circle_stroke(to_screen(*last), 9.0, Stroke::new(2.0, Color32::WHITE));
    }
    response
}
