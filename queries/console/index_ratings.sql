-- description: every daily rating, for the console's index of students (each student's rating over time)
-- output: student_id, day, rating
SELECT student_id, day, rating
FROM ratings
